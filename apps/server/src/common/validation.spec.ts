import { Type } from 'class-transformer';
import { IsInt, IsString, Min, ValidateNested } from 'class-validator';
import { AppError } from './errors';
import { createValidationPipe } from './validation';

class Inner {
  @IsInt() @Min(1) count!: number;
}
class Outer {
  @IsString() name!: string;
  @ValidateNested() @Type(() => Inner) inner!: Inner;
}

describe('createValidationPipe', () => {
  const pipe = createValidationPipe();
  const validate = (value: unknown) => pipe.transform(value, { type: 'body', metatype: Outer });

  it('names nested fields with dots and lists every problem', async () => {
    const err = await validate({ name: 3, inner: { count: 0 }, extra: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    const e = err as AppError;
    expect(e.status).toBe(400);
    expect(e.code).toBe('COMMON_VALIDATION');
    expect(e.message).toContain('name: name must be a string');
    expect(e.message).toContain('inner.count: count must not be less than 1');
    expect(e.message).toContain('extra: property extra should not exist');
    expect(e.details).toEqual(expect.arrayContaining([{ field: 'inner.count', errors: ['count must not be less than 1'] }]));
  });

  it('returns an instance of the DTO class for good input', async () => {
    const out = await validate({ name: 'x', inner: { count: 2 } });
    expect(out).toBeInstanceOf(Outer);
    expect((out as Outer).inner).toBeInstanceOf(Inner);
  });
});
