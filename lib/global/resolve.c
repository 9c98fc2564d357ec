/* resolve - placeholder until the module lands */
