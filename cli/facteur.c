/* facteur - placeholder until the module lands */
