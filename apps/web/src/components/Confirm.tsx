import { createContext, useCallback, useContext, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Dialog } from './Dialog';

export interface ConfirmRequest {
  title: string;
  message: string;
  confirmLabel: string;
  /** Label of an extra checkbox (e.g. "also delete the disk"); its state is returned. */
  option?: string;
  optionDefault?: boolean;
}
/** false when cancelled; otherwise the state of the optional checkbox. */
export type ConfirmResult = false | { option: boolean };

const ConfirmContext = createContext<(request: ConfirmRequest) => Promise<ConfirmResult>>(async () => false);

/** Every destructive action asks here first. */
export function ConfirmProvider({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const [request, setRequest] = useState<ConfirmRequest | null>(null);
  const [option, setOption] = useState(false);
  const resolver = useRef<((result: ConfirmResult) => void) | null>(null);

  const confirm = useCallback((next: ConfirmRequest) => {
    resolver.current?.(false);
    setOption(next.optionDefault ?? false);
    setRequest(next);
    return new Promise<ConfirmResult>((resolve) => {
      resolver.current = resolve;
    });
  }, []);

  const finish = (result: ConfirmResult) => {
    resolver.current?.(result);
    resolver.current = null;
    setRequest(null);
  };

  return (
    <ConfirmContext.Provider value={confirm}>
      {children}
      {request && (
        <Dialog title={request.title} onClose={() => finish(false)}>
          <p>{request.message}</p>
          {request.option && (
            <label className="checkbox">
              <input type="checkbox" checked={option} onChange={(e) => setOption(e.target.checked)} /> {request.option}
            </label>
          )}
          <div className="actions">
            <button type="button" autoFocus onClick={() => finish(false)}>
              {t('common.cancel')}
            </button>
            <button type="button" className="danger" onClick={() => finish({ option })}>
              {request.confirmLabel}
            </button>
          </div>
        </Dialog>
      )}
    </ConfirmContext.Provider>
  );
}

export function useConfirm() {
  return useContext(ConfirmContext);
}
