#!/usr/bin/env node
// A committed entry, so npm links the command at install time, before the build has run.
import "../dist/main.js"
