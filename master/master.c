/* master - placeholder until the module lands */
