/* dns - placeholder until the module lands */
