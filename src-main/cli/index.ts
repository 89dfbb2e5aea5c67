/** Bundle entry of the command line. */
import { runCli } from './main';

runCli();
