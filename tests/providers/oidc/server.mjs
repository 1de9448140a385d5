// A real OpenID provider (oidc-provider, pinned in package.json) on 127.0.0.1 for apirun's
// tests of discovery, the device grant (RFC 8628) and private_key_jwt (RFC 7523).
// Usage: node server.mjs PUBLIC_JWK_JSON ; prints "listening http://127.0.0.1:PORT" once up.
import http from 'node:http';
import Provider from 'oidc-provider';

const jwk = JSON.parse(process.argv[2]);
const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'device-cli',
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'none',
      },
      {
        client_id: 'jwt-svc',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [jwk] },
      },
    ],
    features: {
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      devInteractions: { enabled: true },
      introspection: { enabled: true },
    },
    scopes: ['openid', 'offline_access', 'profile', 'api'],
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  console.log(`listening ${issuer}`);
});
