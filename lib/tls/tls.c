/* tls - placeholder until the module lands */
