/* maillog - placeholder until the module lands */
