/* password - placeholder until the module lands */
