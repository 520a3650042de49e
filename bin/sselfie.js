#!/usr/bin/env node
import { main } from "../dist/cli/cli.js";
main(process.argv);
