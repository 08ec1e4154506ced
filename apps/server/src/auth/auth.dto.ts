import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { PASSWORD_MAX, PASSWORD_MIN, UserDto } from '../users/users.dto';

export class LoginDto {
  // Loose on purpose: a login failure must not say whether a username could exist.
  @ApiProperty({ example: 'admin' })
  @IsString() @MinLength(1) @MaxLength(200)
  username!: string;

  @ApiProperty()
  @IsString() @MinLength(1) @MaxLength(1024)
  password!: string;
}

export class LoginResponseDto {
  @ApiProperty({ description: 'Session token; send as `Authorization: Bearer <token>` (also set as the sysfleet_session cookie)' })
  token!: string;
  @ApiProperty({ description: 'Send as the X-CSRF-Token header on changes made with the cookie' })
  csrfToken!: string;
  @ApiProperty({ type: UserDto }) user!: UserDto;
}

export class MeDto {
  @ApiProperty({ type: UserDto }) user!: UserDto;
  @ApiProperty() csrfToken!: string;
}

export class ChangePasswordDto {
  @ApiProperty()
  @IsString() @MinLength(1) @MaxLength(PASSWORD_MAX)
  currentPassword!: string;

  @ApiProperty({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX })
  @IsString() @MinLength(PASSWORD_MIN) @MaxLength(PASSWORD_MAX)
  newPassword!: string;
}
