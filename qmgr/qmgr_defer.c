/* qmgr_defer - placeholder until the module lands */
