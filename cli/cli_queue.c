/* cli_queue - placeholder until the module lands */
