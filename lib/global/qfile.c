/* qfile - placeholder until the module lands */
