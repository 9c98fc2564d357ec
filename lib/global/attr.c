/* attr - placeholder until the module lands */
