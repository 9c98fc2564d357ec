/* cli_mastercf - placeholder until the module lands */
