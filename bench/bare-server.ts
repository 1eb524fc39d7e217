/** The reference for the server figure: a bare fastify route answering `{}`, nothing else. */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/v1/verify', async () => ({}));
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(JSON.stringify({ event: 'ready', url: address }) + '\n');
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
