/* cli_map - placeholder until the module lands */
