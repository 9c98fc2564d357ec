/* net - placeholder until the module lands */
