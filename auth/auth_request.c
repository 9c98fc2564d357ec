/* auth_request - placeholder until the module lands */
