/* 16550A UART registers (National Semiconductor PC16550D datasheet, table II). */
#ifndef DEVICES_UART8250_REGS_H
#define DEVICES_UART8250_REGS_H

#define UART_RBR 0 /* read, DLAB=0 */
#define UART_THR 0 /* write, DLAB=0 */
#define UART_DLL 0 /* DLAB=1 */
#define UART_IER 1 /* DLAB=0 */
#define UART_DLM 1 /* DLAB=1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7
#define UART_NUM_PORTS 8

#define UART_IER_RDI   0x01 /* received data available */
#define UART_IER_THRI  0x02 /* transmitter holding register empty */
#define UART_IER_RLSI  0x04 /* receiver line status */
#define UART_IER_MSI   0x08 /* modem status */
#define UART_IER_MASK  0x0F

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI    0x00
#define UART_IIR_THRI   0x02
#define UART_IIR_RDI    0x04
#define UART_IIR_RLSI   0x06
#define UART_IIR_FIFO_ENABLED 0xC0

#define UART_FCR_ENABLE_FIFO 0x01
#define UART_FCR_CLEAR_RCVR  0x02
#define UART_FCR_CLEAR_XMIT  0x04

#define UART_LCR_DLAB  0x80

#define UART_MCR_DTR   0x01
#define UART_MCR_RTS   0x02
#define UART_MCR_OUT1  0x04
#define UART_MCR_OUT2  0x08 /* gates the interrupt line on PCs */
#define UART_MCR_LOOP  0x10
#define UART_MCR_MASK  0x1F

#define UART_LSR_DR    0x01
#define UART_LSR_THRE  0x20
#define UART_LSR_TEMT  0x40

#define UART_MSR_DCTS  0x01
#define UART_MSR_DDSR  0x02
#define UART_MSR_TERI  0x04
#define UART_MSR_DDCD  0x08
#define UART_MSR_CTS   0x10
#define UART_MSR_DSR   0x20
#define UART_MSR_RI    0x40
#define UART_MSR_DCD   0x80
#define UART_MSR_DELTA_MASK 0x0F

#define UART_FIFO_SIZE 64

#endif
