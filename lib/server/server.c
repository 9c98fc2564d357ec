/* server - placeholder until the module lands */
