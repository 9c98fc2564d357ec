/* testlib - placeholder until the module lands */
