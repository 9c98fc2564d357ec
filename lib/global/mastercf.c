/* mastercf - placeholder until the module lands */
