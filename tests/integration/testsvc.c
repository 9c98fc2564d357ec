/* testsvc - placeholder until the module lands */
