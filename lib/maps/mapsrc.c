/* mapsrc - placeholder until the module lands */
