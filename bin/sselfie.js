#!/usr/bin/env node
import { main } from "../dist/cli/cli.js";
main(process.argv).then((code) => process.exit(code));
