/* mime - placeholder until the module lands */
