/* placeholder so the build configures; being written */
