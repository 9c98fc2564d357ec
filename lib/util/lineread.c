/* lineread - placeholder until the module lands */
