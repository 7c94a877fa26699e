import { expect } from 'chai';
import { smartConfiguration } from '../../src/auth/smart-configuration.js';

describe('smartConfiguration', () => {
  it('publishes permissions and scopes, no endpoints when none are configured', () => {
    const doc = smartConfiguration({});
    expect(doc).to.not.have.property('authorization_endpoint');
    expect(doc).to.not.have.property('token_endpoint');
    expect(doc.capabilities).to.include.members(['permission-v1', 'permission-v2', 'permission-patient', 'permission-user']);
    expect(doc.scopes_supported).to.include.members(['patient/Patient.rs', 'user/Patient.cruds', 'system/*.read']);
    expect(doc.code_challenge_methods_supported).to.deep.equal(['S256']);
  });

  it('adds endpoints, issuer and jwks_uri when configured', () => {
    const doc = smartConfiguration(
      { jwtIssuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks' },
      { authorizationEndpoint: 'https://idp.example/authorize', tokenEndpoint: 'https://idp.example/token' },
    );
    expect(doc).to.include({ issuer: 'https://idp.example', jwks_uri: 'https://idp.example/jwks', token_endpoint: 'https://idp.example/token' });
    expect(doc.capabilities).to.include('launch-standalone');
  });
});
