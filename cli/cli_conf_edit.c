/* cli_conf_edit - placeholder until the module lands */
