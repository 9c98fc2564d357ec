/* cli_conf - placeholder until the module lands */
