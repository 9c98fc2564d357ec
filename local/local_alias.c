/* local_alias - placeholder until the module lands */
