/* priv - placeholder until the module lands */
