/* auth_client - placeholder until the module lands */
