/* master_wakeup - placeholder until the module lands */
