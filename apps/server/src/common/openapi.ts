import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { SESSION_COOKIE } from '../auth/sessions.service';

/** Swagger UI at /api/docs and the OpenAPI document at /api/openapi.json. */
export function setupOpenApi(app: INestApplication, version: string): void {
  const config = new DocumentBuilder()
    .setTitle('Sysfleet API')
    .setDescription(
      'Log in with POST /api/auth/login. Send the returned token as `Authorization: Bearer <token>`, or use the ' +
        `\`${SESSION_COOKIE}\` cookie plus the \`X-CSRF-Token\` header on every change.`,
    )
    .setVersion(version)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'Session token from POST /api/auth/login' }, 'bearer')
    .addCookieAuth(SESSION_COOKIE, { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE }, 'cookie')
    // Either scheme will do (separate requirement objects are alternatives).
    .addSecurityRequirements('bearer')
    .addSecurityRequirements('cookie')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/openapi.json', yamlDocumentUrl: 'api/openapi.yaml' });
}
