/* master_status - placeholder until the module lands */
