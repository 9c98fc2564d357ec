/* params - placeholder until the module lands */
