/* cli_user - placeholder until the module lands */
