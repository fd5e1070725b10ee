/** Events without data (`rooms`): any extra field is dropped. */
export class EmptyDto {}
