import { MemoryTable } from '../../../adapters/memory/memory-table.ts';
import { tableContract } from './table-contract.ts';

const table = new MemoryTable();
tableContract('MemoryTable', { table: () => table });
