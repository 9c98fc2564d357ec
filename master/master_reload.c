/* master_reload - placeholder until the module lands */
