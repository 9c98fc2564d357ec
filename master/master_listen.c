/* master_listen - placeholder until the module lands */
