/** The `loupe` process entry: runs the command line and exits with its code. */
import { main } from './main';

// Exit explicitly: pooled keep-alive sockets or timers must not keep a finished command alive.
process.exit(await main(process.argv.slice(2)));
