/* cli_check - placeholder until the module lands */
