/* cli_control - placeholder until the module lands */
