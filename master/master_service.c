/* master_service - placeholder until the module lands */
