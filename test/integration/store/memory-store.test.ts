import { MemoryTable } from '../../../adapters/memory/memory-table.ts';
import { MemoryStore } from '../../../adapters/memory/store.ts';
import { storeContract } from './store-contract.ts';
import { tableContract } from './table-contract.ts';

const store = new MemoryStore();
storeContract('MemoryStore', { store: () => store });

const table = new MemoryTable();
tableContract('MemoryTable', { table: () => table });
