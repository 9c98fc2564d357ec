/* master_logger - placeholder until the module lands */
